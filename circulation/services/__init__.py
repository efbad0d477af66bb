"""Writes about circulation, one module per capability:

- loans: checkout, checkin, renew, lost, claims returned (with fines and fees)
- holds: place, cancel, suspend, pickup branch, queue order, fill, expire, expected dates
- rules: the loan-rule matrix and the library's circulation settings
- renewals: the nightly automatic renewal
"""
