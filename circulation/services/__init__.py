"""Writes about circulation, one module per capability:

- loans: checkout, checkin, renew, lost, claims returned (with fines and fees)
- holds: place, cancel, suspend, pickup branch, queue order, fill, expire, expected dates
- rules: the loan-rule matrix and the library's circulation settings
- reminders: the nightly work (automatic renewal, reminders, overdue notices, holds)
- privacy: loans and holds in the member export, erasure, anonymising and merging
"""
