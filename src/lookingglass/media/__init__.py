"""Turning stored bytes into pixels (and, later, frames and audio) safely."""
