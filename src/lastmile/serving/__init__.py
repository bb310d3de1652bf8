"""Serving the model: the BentoML service, its request records, and packaging into a bento."""
