"""csdp: disposable test services on demand."""
