// Writes schema/schema.graphql from the code. A test fails when the checked-in file is stale.
import fs from 'node:fs';
import path from 'node:path';
import { printedSchema } from '../src/graphql/schema';

const out = path.join(__dirname, '..', 'schema', 'schema.graphql');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, printedSchema());
process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
