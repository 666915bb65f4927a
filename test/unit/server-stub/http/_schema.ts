// A small JSON Schema (2020-12 subset) checker for the OpenAPI tests: $ref into the document,
// type, enum, pattern, minimum/maximum, properties/required/additionalProperties, items, oneOf,
// allOf. Returns the list of violations with JSON paths, so a mismatch says where.
type Schema = Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function resolve(root: Schema, s: Schema): Schema {
  let cur = s;
  while (typeof cur.$ref === 'string') {
    const path = cur.$ref.replace(/^#\//, '').split('/');
    let node: unknown = root;
    for (const p of path) node = (node as Record<string, unknown>)[p];
    if (!node) throw new Error(`unresolved $ref ${cur.$ref}`);
    cur = node as Schema;
  }
  return cur;
}

export function validate(root: Schema, schema: Schema, value: unknown, path = '$'): string[] {
  const s = resolve(root, schema);
  const errs: string[] = [];
  const t = typeOf(value);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const ok = types.some((x) => x === t || (x === 'number' && t === 'integer'));
    if (!ok) return [`${path}: expected ${types.join('|')}, got ${t}`];
  }
  if (Array.isArray(s.enum) && !s.enum.includes(value))
    errs.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (typeof s.pattern === 'string' && typeof value === 'string' && !new RegExp(s.pattern, 'u').test(value)) {
    errs.push(`${path}: '${value}' does not match ${s.pattern}`);
  }
  if (typeof s.minimum === 'number' && typeof value === 'number' && value < s.minimum)
    errs.push(`${path}: below minimum`);
  if (typeof s.maximum === 'number' && typeof value === 'number' && value > s.maximum)
    errs.push(`${path}: above maximum`);
  if (s.format === 'date-time' && typeof value === 'string' && Number.isNaN(Date.parse(value)))
    errs.push(`${path}: not a date-time`);
  if (t === 'object' && s.properties) {
    const obj = value as Record<string, unknown>;
    const props = s.properties as Record<string, Schema>;
    for (const r of (s.required as string[] | undefined) ?? [])
      if (!(r in obj)) errs.push(`${path}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...validate(root, props[k], v, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${path}.${k}: not in the schema`);
    }
  }
  if (t === 'array' && s.items)
    (value as unknown[]).forEach((v, i) =>
      errs.push(...validate(root, s.items as Schema, v, `${path}[${i}]`)),
    );
  if (Array.isArray(s.oneOf)) {
    const matching = (s.oneOf as Schema[]).filter((o) => validate(root, o, value, path).length === 0).length;
    if (matching !== 1) errs.push(`${path}: matches ${matching} of oneOf`);
  }
  if (Array.isArray(s.allOf))
    for (const o of s.allOf as Schema[]) errs.push(...validate(root, o, value, path));
  return errs;
}
