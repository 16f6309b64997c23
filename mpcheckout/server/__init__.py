"""`mpcheckout serve`: the webhook receiver, monitoring endpoints and payment links."""
