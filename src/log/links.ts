import { hash } from 'node:crypto';

/** An unkeyed link (a chain sealed without the audit key): anyone can recompute it. */
export function legacyLink(previous: string, pos: string, content: string): string {
  return hash('sha256', `${previous}:${pos}:${content}`, 'hex');
}

/** What a keyed link signs: the link before, the position, the content hash and the writer's tag. */
export function keyedLinkData(previous: string, pos: string, content: string, writerTag: string): string {
  return `${previous}\n${pos}\n${content}\n${writerTag}`;
}
