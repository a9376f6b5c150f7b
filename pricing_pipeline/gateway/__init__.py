"""What a gateway uses, above the store: the cost of a request read from the pricing
database (cost.py), the same from memory (pricebook.py), and bills reconciled against our
prices (reconcile.py). ``pricing/`` holds the rules; this package feeds them the prices."""
