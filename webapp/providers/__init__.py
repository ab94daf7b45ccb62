"""Outside services the wallet talks to (SMS today; payouts and airtime later), each behind a small
interface with a sandbox for development and tests, chosen by configuration."""
