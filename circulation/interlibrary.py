"""Interlibrary loan as circulation sees it.

Two kinds of copies take part, and circulation lends both with its own services:

- a copy of this library lent to another library organisation: a loan with
  borrower kind library (circulation.borrowers.Borrower.library), sent, renewed
  and taken back like any loan;
- a copy of another library organisation here for one of our members: a stand-in
  record (collection.Item.ibl_owner_id, made when it arrives by
  circulation.services.interlibrary.ibl_copy_arrive), put on the hold shelf, lent,
  renewed and taken back at the desk like our own copies.

What only interlibrary loan knows is asked of the app registered here (the ibl
app, a floor above circulation, registers itself when Django starts): the due
date of a stand-in's loan and whether it may be renewed (the lender's terms,
answered at once), where a stand-in goes when it is handed in (its way home, the
return legs), and that a request is complete when our copy comes back from a
library. The answers run inside circulation's transaction, after circulation's
own row locks (core.locks: the interlibrary-loan request is the last rank), so a
checkin that ends a loan and the request's next step commit together.

Without the app registered nothing can be an IBL stand-in: `interlibrary()` raises.
"""

from typing import Protocol


class InterlibraryLoan(Protocol):
    def standin_due_on(self, *, item, branch_id, today):
        """The due date of a member's loan of stand-in `item` (lent today at branch_id)."""

    def standin_lent(self, *, actor, loan):
        """After a member's loan of a stand-in was made (last in checkout's transaction)."""

    def standin_renewal(self, *, loan, today):
        """The new due date of a renewal of a stand-in's loan, or raise a ServiceError
        (its code is the refusal's) when the lender's terms refuse it."""

    def standin_renewed(self, *, actor, loan, today):
        """After a stand-in's loan was renewed (the lender is told)."""

    def standin_returned(self, *, actor, item, loan, branch, now):
        """A stand-in is handed in (after a loan, or never collected) and goes home.
        Returns (code, params, [(note code, params)]) for the routing sign."""

    def standin_gone(self, *, item):
        """A stand-in scanned again after it left: (code, params) for the sign."""

    def library_loan_returned(self, *, actor, loan, branch, now):
        """A copy of ours lent to a library is back and checked in here: returns
        [(note code, params)] for the sign."""

    def own_copy_back(self, *, actor, item, branch, now):
        """A copy of ours checked in here (last in checkin's transaction): when the
        POI was bringing it home from elsewhere, that transport ends. Returns
        [(note code, params)] for the sign."""


_REGISTERED = {}


def register(implementation):
    """The interlibrary-loan app registers its answers (once, at start-up)."""
    _REGISTERED["ibl"] = implementation


def interlibrary():
    try:
        return _REGISTERED["ibl"]
    except KeyError:
        raise RuntimeError("no interlibrary-loan app is registered (circulation.interlibrary.register)") from None
