"""Provider webhooks. They carry no user credential: each is verified by its provider's signature."""
