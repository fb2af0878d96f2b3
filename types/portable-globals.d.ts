// The host APIs that browsers, Web Workers and Node 20 all provide, and the only ones core code may use.
// Core code is compiled against this file instead of the DOM or Node typings.

declare var console: { log(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void };
declare function setTimeout(handler: (...args: never[]) => void, ms?: number): unknown;
declare function clearTimeout(id: unknown): void;
declare function setInterval(handler: (...args: never[]) => void, ms?: number): unknown;
declare function clearInterval(id: unknown): void;
declare var performance: { now(): number };
declare var crypto: { subtle: { digest(algorithm: 'SHA-256', data: ArrayBufferView | ArrayBuffer): Promise<ArrayBuffer> } };
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: unknown;
}
interface Response {
  readonly ok: boolean;
  readonly status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
  json(): Promise<unknown>;
  text(): Promise<string>;
}
declare function fetch(url: string, init?: RequestInit): Promise<Response>;
