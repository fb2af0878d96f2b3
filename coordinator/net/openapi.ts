import { jobSpecSchema } from '../../protocol/job';
import type { RouteInfo } from './http';

const ERROR = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
  required: ['error'],
};

/**
 * The API as an OpenAPI 3.1 document, generated from what the server enforces: the routes as registered (path,
 * method, required token scope) and request bodies from the same schemas that validate them.
 */
export function openApi(routes: readonly RouteInfo[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.pattern.includes('*') || r.method === 'options') continue; // static files and preflights
    const path = r.pattern.replace(/:(\w+)/g, '{$1}');
    const parameters = [...r.pattern.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    paths[path] ??= {};
    paths[path][r.method] = {
      ...(r.scope ? { security: [{ bearer: [] }], 'x-scope': r.scope } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
      responses: {
        '200': { description: 'OK' },
        default: { description: 'a refusal with a stable code', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'webgpu-grid coordinator', version },
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Error: ERROR, JobSpec: jobSpecSchema.json } },
  };
}
