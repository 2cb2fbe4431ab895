"""Drives: onboarding campaigns, institutions, referral codes, QR posters, the public join
page, fraud controls and funnels."""
