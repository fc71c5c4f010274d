"""Genesys Cloud: regions, OAuth, the pooled HTTP client, paging and notifications."""
