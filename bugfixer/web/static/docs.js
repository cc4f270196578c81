// Swagger UI for /openapi.json; "Authorize" takes an API key (bfk_...) for the calls.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    persistAuthorization: true,
    tryItOutEnabled: false,
  });
});
