"""Pure compute: images in, detections and embeddings out. No I/O beyond reading verified model files."""
