import { getNamedType, isLeafType, isListType, isNonNullType, type GraphQLField, type GraphQLOutputType } from 'graphql';

// What a field costs towards GRAPHQL_MAX_COMPLEXITY. A field that returns a page or a list
// weighs its selection by how many rows it may return: `first` (or `last`) as asked, the page
// size when neither is given, capped where the server caps it; a connection's `edges` then count
// once (the connection already multiplied), and a row of any other list costs at least one. Other object lists count 10 rows. Plain scalars
// and enums read from a row already loaded cost nothing; fields that do their own query say what
// they cost where they are defined (e.g. descendantCount).

/** A connection's page when neither first nor last is given (Pothos relay's default). */
const DEFAULT_PAGE = 20;
/** The largest page a connection returns (Pothos relay's default). */
const MAX_PAGE = 100;
/** The most rows any other `first` argument returns (recentAccess keeps 1,000). */
const MAX_LIST = 1_000;
/** Rows assumed for an object list without a size argument. */
const UNSIZED_LIST = 10;

const isList = (type: GraphQLOutputType): boolean => isListType(type) || (isNonNullType(type) && isListType(type.ofType));

type FieldShape = Pick<GraphQLField<unknown, unknown>, 'name' | 'type' | 'args'>;

function requestedRows(args: Record<string, unknown>, field: FieldShape): number {
  const connection = getNamedType(field.type).name.endsWith('Connection');
  const given = [args.first, args.last].filter((n): n is number => typeof n === 'number');
  const fallback = field.args.find((a) => a.name === 'first')?.defaultValue;
  const rows = given.length ? Math.max(...given) : typeof fallback === 'number' ? fallback : DEFAULT_PAGE;
  return Math.min(Math.max(rows, 1), connection ? MAX_PAGE : MAX_LIST);
}

export function fieldComplexity(args: Record<string, unknown>, _ctx: unknown, field: FieldShape): { field: number; multiplier: number } {
  if (field.args.some((a) => a.name === 'first' || a.name === 'last')) {
    // Each row costs at least one, whatever is selected of it (a connection's edges count that already).
    const rows = requestedRows(args, field);
    return { field: getNamedType(field.type).name.endsWith('Connection') ? 1 : rows, multiplier: rows };
  }
  const named = getNamedType(field.type);
  if (field.name === 'edges' && named.name.endsWith('Edge')) return { field: 1, multiplier: 1 };
  if (isLeafType(named)) return { field: 0, multiplier: 1 };
  return { field: 1, multiplier: isList(field.type) ? UNSIZED_LIST : 1 };
}
