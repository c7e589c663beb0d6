// Swagger UI over the API's OpenAPI document, which the API serves beside this page.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    // Relative to the page (/api/v1/docs): /api/v1/openapi.json, behind whatever prefix the API has.
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayRequestDuration: true,
    // Never send the document to the public validator (the only outside request Swagger UI makes).
    validatorUrl: null,
  });
});
