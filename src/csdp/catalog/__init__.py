"""The service catalog: manifests read from service folders."""

from csdp.catalog.loader import Catalog, Service, check_parameters, load_catalog, load_manifest
from csdp.catalog.manifest import Action, Manifest, Parameter

__all__ = ["Action", "Catalog", "Manifest", "Parameter", "Service", "check_parameters", "load_catalog", "load_manifest"]
