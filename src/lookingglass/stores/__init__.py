"""Ports for storage: each module holds a Protocol, its embedded adapter and its server adapter."""
