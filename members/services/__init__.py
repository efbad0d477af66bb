"""Writes about members, one module per capability (as Zulip's actions/):

- registration: register, update (optimistic locking), card replacement, merge,
  categories and subscriptions, the under-18 rule
- ledger: charges, payments, waivers; blocks (manual and automatic)
- privacy: audit log, data export, erasure, loan-history retention, CSV import
"""
