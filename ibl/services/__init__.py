"""Interlibrary loan's write services (one module per part of the chain):

requests  the request, choosing and asking lenders, declines, time-outs, cancelling
sending   the lender's pick list and the send scan
transport legs, the hub's scans, crates, runs, manifests, late legs
arrival   the IBL desk's receipt (for a member; home to the lender)
notify    telling the member
"""
