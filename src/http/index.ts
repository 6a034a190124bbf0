export { buildHttpServer, NO_QUERY, type HttpServerOptions, type ReadinessCheck } from './server.js';
export { ensureTlsMaterial, SELF_SIGNED_CERT, SELF_SIGNED_KEY, type TlsMaterial } from './certificate.js';
export { errorBody, ErrorBodySchema, type ErrorBody } from './errors.js';
export {
  describeCertificate,
  describeHttpSecurity,
  type CertificateDescription,
  type HttpSecurityDescription,
  type ListenerDescription,
  type RouteInputs,
} from './security.js';
