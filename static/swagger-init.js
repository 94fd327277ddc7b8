// Starts Swagger UI on /schema/swagger (kept out of the page so that the page needs no inline script).
(function () {
  "use strict";
  document.body.style.margin = "0";
  window.ui = SwaggerUIBundle({
    url: document.body.getAttribute("data-schema-url"),
    dom_id: "#swagger-container",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset]
  });
})();
