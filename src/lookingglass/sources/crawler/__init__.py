"""The polite crawler: a Scrapy project that collects images, videos and pages into the object store.

Scrapy's three places, kept apart (STYLE.md): `spider.py` decides what to follow, `pipelines.py` hands what was found
to a sink (the object store, directly or through `serve`), `middlewares.py` decides how requests are made (address
guard, one egress proxy, byte budget). `politeness.py` holds the settings that make it a good citizen: an honest
User-Agent, robots.txt with its Crawl-delay, AutoThrottle, one or two requests per host. There is no evasion of any
kind here, by design (DEVELOPERS.md): no webdriver masking, no fingerprint spoofing, no proxy rotation.
"""
