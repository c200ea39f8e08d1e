"""The officials' side: personal links, sign-in codes, requests (progress, completion,
extension) and evidence files. Web routes in `web/routes/officials.py` call these."""
