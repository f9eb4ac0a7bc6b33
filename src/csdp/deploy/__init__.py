"""One-command deployment of the platform as a docker-compose stack.

``csdp deploy up`` writes the stack's settings file with generated secrets,
builds the platform images, creates the service network, starts the compose
project, waits until every service is healthy and makes sure an admin exists.
The compose file and Dockerfiles live in the ``deploy/`` folder of the source
tree; docs/deployment.md describes the stack.
"""
