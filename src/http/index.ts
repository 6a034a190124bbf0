export { buildHttpServer, type HttpServerOptions, type ReadinessCheck } from './server.js';
export { NO_BODY, NO_QUERY } from './strict-inputs.js';
export { ensureTlsMaterial, SELF_SIGNED_CERT, SELF_SIGNED_KEY, type TlsMaterial } from './certificate.js';
export { errorBody, ErrorBodySchema, type ErrorBody } from './errors.js';
export { describeAccess, routeAccessTable, type Guard, type RouteAccess, type RouteRule } from './guard.js';
export {
  describeCertificate,
  describeHttpSecurity,
  type CertificateDescription,
  type HttpSecurityDescription,
  type ListenerDescription,
  type RouteInputs,
} from './security.js';
