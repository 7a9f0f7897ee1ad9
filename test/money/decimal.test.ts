import { parseDecimal, roundDecimal, sumDecimals, withoutExponent } from '../../src/money/decimal';

describe('withoutExponent', () => {
  test.each([
    ['1.5e-5', '0.000015'],
    ['-2E3', '-2000'],
    ['.5e1', '5'],
    ['1.23e1', '12.3'],
    ['12.5e-1', '1.25'],
    ['0e0', '0'],
    ['+7e+2', '700'],
    ['12.50', '12.50'],
  ])('%s → %s, moving the point in the text', (given, expected) => {
    expect(withoutExponent(given)).toBe(expected);
  });

  test('leaves what is not a number for the parse to refuse', () => {
    expect(withoutExponent('e5')).toBe('e5');
    expect(withoutExponent('1e')).toBe('1e');
    expect(parseDecimal(withoutExponent('abc')).ok).toBe(false);
  });
});

describe('roundDecimal', () => {
  test.each([
    ['0.1234565', '0.123457'],
    ['0.1234564', '0.123456'],
    ['-0.0000005', '-0.000001'],
    ['-0.0000004', '0'],
    ['9.9999995', '10'],
    ['2.5', '2.5'],
    ['123', '123'],
  ])('%s → %s (half away from zero, exact)', (given, expected) => {
    expect(roundDecimal(given, 6)).toBe(expected);
  });
});

describe('sumDecimals', () => {
  test('adds exactly at the largest scale, exponent forms included', () => {
    expect(sumDecimals(['10.5500', '0.45', '-1'])).toBe('10');
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3');
    expect(sumDecimals(['1.5e-5', '2.00'])).toBe('2.000015');
    expect(sumDecimals(['0.1234567', '0.0000001'])).toBe('0.1234568');
  });

  test('refuses text that is not a number', () => {
    expect(() => sumDecimals(['1,5'])).toThrow(/is not a decimal number/);
  });
});
