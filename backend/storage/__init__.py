"""Storage: datastores through fsspec, URI resolution, uploads, MLTable."""
