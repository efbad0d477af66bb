"""The OpenAPI description of LSB's API keys (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A machine key (lsbm_…, self-service machines: made by the library administrator with "
                           "the machine account) or a staff key (lsbs_…, integrations: made on the desk's "
                           "'API-sleutels' screen). Also accepted as `Authorization: Token <key>`.",
        }
