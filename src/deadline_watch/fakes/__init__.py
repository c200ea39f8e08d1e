"""Local stand-ins for the SMS providers (Twilio, Alibaba Cloud) used by tests, benchmarks and development."""
