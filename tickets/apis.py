"""REST API (serializers, viewsets, routes) of the tickets app.

Its domain: tickets, categories, deadline policies, whistles, deliberation, notifications.
The app is installed so its place exists; it holds no code until its own issue lands.
"""
