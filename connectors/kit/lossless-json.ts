/** The connectors' JSON parser; shared with the HTTP layer's body parser. */
export { parseJsonLossless } from '../../src/util/lossless-json';
