pytest_plugins = ["storefront.testing"]
