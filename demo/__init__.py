"""The demo data of `./lsbctl run` (manage.py seed_demo): libraries, staff, titles,
items, members, loan rules and a few loans, loaded through every app's services.
It imports every app, so it sits on the top floor beside the project package
(lsb) and nothing imports it."""
