"""Models of the volunteers app.

Its domain: volunteer teams, activities, the points ledger and the points shop.
The app is installed so its place exists; it holds no code until its own issue lands.
"""
