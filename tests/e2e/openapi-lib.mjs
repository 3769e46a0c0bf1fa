// Checks real answers against a listener's own OpenAPI document (/openapi.json):
// the document itself must be valid OpenAPI 3.1 (@seriousme/openapi-schema-validator),
// and every answer's status must be documented for its path and method, with its
// body valid against the documented schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1
// uses it) and carrying no field the schema does not name.

import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { request } from "./helpers.mjs";

/** Fetches and validates `base`/openapi.json; returns a checker bound to it. */
export async function openDoc(base, profile) {
  const r = await request(base, "GET", "/openapi.json");
  assert.equal(r.status, 200, `${profile}: /openapi.json answered ${r.status}`);
  assert.match(r.headers.get("content-type") ?? "", /application\/json/);
  const doc = r.json;
  const result = await new Validator().validate(structuredClone(doc));
  assert.ok(result.valid, `${profile}: the document is not valid OpenAPI: ${JSON.stringify(result.errors)}`);
  assert.match(doc.openapi, /^3\.1\./);
  return new Checker(profile, base, doc);
}

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head"];

export class Checker {
  constructor(profile, base, doc) {
    this.profile = profile;
    this.base = base;
    this.doc = doc;
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    // utoipa's formats of unsigned integers (its `minimum: 0` says the same).
    for (const f of ["uint8", "uint16", "uint32", "uint64"]) {
      this.ajv.addFormat(f, { type: "number", validate: (n) => Number.isInteger(n) && n >= 0 });
    }
    this.validators = new Map();
    /** "METHOD template" -> statuses seen */
    this.seen = new Map();
  }

  /** Every documented operation as "METHOD template". */
  operations() {
    const ops = [];
    for (const [path, item] of Object.entries(this.doc.paths ?? {})) {
      for (const m of METHODS) if (item[m]) ops.push(`${m.toUpperCase()} ${path}`);
    }
    return ops.sort();
  }

  /**
   * Sends a request to the path `template` with `params` filled in, then checks
   * the answer against the document; returns the answer (helpers.request's shape).
   */
  async call(method, template, { params = {}, query = "", expect, ...opts } = {}) {
    const path = template.replace(/\{(\w+)\}/g, (_, k) => {
      assert.ok(k in params, `no value for {${k}}`);
      return encodeURIComponent(params[k]);
    });
    const r = await request(this.base, method, path + query, opts);
    const where = `${this.profile} ${method} ${template} -> ${r.status} ${r.text.slice(0, 300)}`;
    if (expect !== undefined) assert.equal(r.status, expect, where);
    this.check(method, template, r, where);
    const key = `${method} ${template}`;
    if (!this.seen.has(key)) this.seen.set(key, new Set());
    this.seen.get(key).add(r.status);
    return r;
  }

  check(method, template, r, where) {
    const op = this.doc.paths?.[template]?.[method.toLowerCase()];
    assert.ok(op, `${where}: not in the document`);
    const response = op.responses?.[String(r.status)];
    assert.ok(response, `${where}: status not documented (documented: ${Object.keys(op.responses ?? {})})`);
    const type = (r.headers.get("content-type") ?? "").split(";")[0].trim();
    const content = response.content ?? {};
    if (r.text === "" && Object.keys(content).length === 0) return;
    assert.ok(content[type], `${where}: content type ${type} not documented (${Object.keys(content)})`);
    const schema = content[type].schema;
    if (type !== "application/json" || !schema) return;
    assert.notEqual(r.json, undefined, `${where}: not JSON`);
    const validate = this.validator(schema);
    assert.ok(validate(r.json), `${where}: body does not match the schema: ${this.ajv.errorsText(validate.errors)}`);
    const extra = this.undeclared(r.json, schema, "$");
    assert.deepEqual(extra, [], `${where}: fields the schema does not name`);
  }

  /** Checks a body against the component schema `name` (the refusal envelope). */
  checkSchema(name, r, where) {
    assert.ok(this.doc.components?.schemas?.[name], `${this.profile}: no schema ${name}`);
    const schema = { $ref: `#/components/schemas/${name}` };
    assert.notEqual(r.json, undefined, `${where}: not JSON: ${r.text.slice(0, 200)}`);
    const validate = this.validator(schema);
    assert.ok(validate(r.json), `${where}: body is not a ${name}: ${this.ajv.errorsText(validate.errors)}`);
    assert.deepEqual(this.undeclared(r.json, schema, "$"), [], `${where}: fields ${name} does not name`);
  }

  validator(schema) {
    const key = JSON.stringify(schema);
    let v = this.validators.get(key);
    if (!v) {
      // The document's components ride along so that `#/components/...` resolves.
      v = this.ajv.compile({ $id: `urn:cw:${this.profile}:${this.validators.size}`, ...schema, components: this.doc.components });
      this.validators.set(key, v);
    }
    return v;
  }

  resolve(schema) {
    while (schema && schema.$ref) {
      const parts = schema.$ref.replace(/^#\//, "").split("/");
      schema = parts.reduce((s, p) => s?.[p], this.doc);
    }
    return schema ?? {};
  }

  /** The branches a value may have taken through `schema`, flattened. */
  branches(schema, value) {
    const s = this.resolve(schema);
    const out = [s];
    for (const sub of s.allOf ?? []) out.push(...this.branches(sub, value));
    for (const key of ["oneOf", "anyOf"]) {
      for (const sub of s[key] ?? []) {
        const r = this.resolve(sub);
        if (value !== null && (r.type === "null" || (Array.isArray(r.type) && r.type.length === 1 && r.type[0] === "null"))) continue;
        out.push(...this.branches(sub, value));
      }
    }
    return out;
  }

  /** Paths of object fields in `value` that no schema branch names. */
  undeclared(value, schema, at) {
    if (value === null || typeof value !== "object") return [];
    const bs = this.branches(schema, value);
    if (Array.isArray(value)) {
      const items = bs.map((b) => b.items).filter(Boolean);
      if (items.length === 0) return [];
      return value.flatMap((v, i) => this.undeclared(v, items[0], `${at}[${i}]`));
    }
    const props = {};
    let open = false;
    for (const b of bs) {
      Object.assign(props, b.properties ?? {});
      if (b.additionalProperties && b.additionalProperties !== false) open = true;
    }
    // A schema without properties (any value) says nothing about fields.
    if (Object.keys(props).length === 0) return [];
    const extra = [];
    for (const [k, v] of Object.entries(value)) {
      if (!(k in props)) {
        if (!open) extra.push(`${at}.${k}`);
        continue;
      }
      extra.push(...this.undeclared(v, props[k], `${at}.${k}`));
    }
    return extra;
  }

  /** Documented operations this checker never exercised. */
  unexercised() {
    return this.operations().filter((op) => !this.seen.has(op));
  }
}
