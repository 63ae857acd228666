import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder';
import './enums';
import './agent';
import './key';
import './agent-keys';
import './operator';
import './approval';
import './identity';
import './identity-usage';
import './role';
import './credits';
import './viewer';
import './audit';
import './security';
import './usage';
import './overview';
import './live';
import './export';
import './reports';
import './webhook';

let schema: GraphQLSchema | undefined;

export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema();
  return schema;
}

export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(getSchema())) + '\n';
}
