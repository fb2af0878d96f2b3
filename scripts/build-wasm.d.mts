export function assemble(watPath: string): Promise<Buffer>;
export function generated(bytes: Buffer): string;
