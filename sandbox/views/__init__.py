"""The sandbox's views: they parse the request, call the services and render the answer."""
