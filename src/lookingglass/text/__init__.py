"""Pure text processing, no I/O: snippets of search hits now; page text, entities and relations later."""
