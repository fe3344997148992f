"""Shared, scoped reads of the residents app.

Its domain: households (一户一档), residents, visits, must-visit duties and campaigns.
The app is installed so its place exists; it holds no code until its own issue lands.
"""
