import { describe, expect, it } from "vitest";
import { SNIFF_BYTES, describeNonSvg, looksLikeSvg } from "../../src/render/sniff.js";

const svg = (s: string) => looksLikeSvg(Buffer.from(s, "utf8"));

describe("looksLikeSvg", () => {
  it("finds the root after a BOM, an XML declaration, comments, processing instructions and whitespace", () => {
    expect(svg("<svg/>")).toBe(true);
    expect(svg("\uFEFF<svg xmlns='http://www.w3.org/2000/svg'>")).toBe(true);
    expect(svg('<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->\n<?xml-stylesheet href="a.css"?>\r\n\t<svg>')).toBe(true);
    expect(svg("<!----><!-- a -- b --><svg\n width='1'>")).toBe(true);
    expect(svg("<svg:svg xmlns:svg='http://www.w3.org/2000/svg'/>")).toBe(true);
    expect(svg("<a.b-c_1:svg>")).toBe(true);
  });

  it("skips a doctype whose internal subset holds >, quotes, comments and processing instructions", () => {
    const doctype =
      '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [\n' +
      '  <!ENTITY a "x > y ]">\n  <!-- a comment with > and ] and " -->\n  <?pi ] > ?>\n  <!ENTITY b \'c\'>\n]>\n';
    expect(svg(`${doctype}<svg/>`)).toBe(true);
    expect(svg('<!DOCTYPE svg><svg/>')).toBe(true);
  });

  it("refuses other roots, near misses and unterminated prologs", () => {
    for (const s of [
      "", " ", "<svgx/>", "<html><svg/></html>", "<!doctype html><svg/>", "text<svg/>", "<svg", "<:svg/>", "<1:svg/>",
      "<!-- never closed <svg/>", "<?xml never closed <svg/>", '<!DOCTYPE svg [ <!ENTITY a "]>"> <svg/>',
      "<![CDATA[x]]><svg/>", "<!ELEMENT svg><svg/>", "<SVG/>",
    ]) {
      expect(svg(s), JSON.stringify(s)).toBe(false);
    }
  });

  it("answers at once for the 300-byte body that made the old pattern backtrack for minutes", () => {
    const started = performance.now();
    expect(svg(`${"<!---->".repeat(35)}x`)).toBe(false);
    expect(svg(`${"<!---->".repeat(35)}<svg/>`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("reads at most the sniffed head, so a long prolog is refused with advice", () => {
    const long = Buffer.from(`<!--${"x".repeat(SNIFF_BYTES)}--><svg/>`);
    expect(looksLikeSvg(long)).toBe(false);
    expect(describeNonSvg(long)).toMatch(/first 64 KiB; shorten the prolog/);
    expect(svg(`<!--${"x".repeat(SNIFF_BYTES - 100)}--><svg/>`)).toBe(true);
  });
});

describe("describeNonSvg", () => {
  it("names what the bytes are", () => {
    expect(describeNonSvg(Buffer.alloc(0))).toBe("the file is empty");
    expect(describeNonSvg(Buffer.from("<!DOCTYPE html><html>"))).toBe("the file is an HTML page");
    expect(describeNonSvg(Buffer.from('{"a": 1}'))).toBe("the file is JSON");
    expect(describeNonSvg(Buffer.from([0xff, 0xd8, 0xff]))).toBe("the file is a JPEG image");
    expect(describeNonSvg(Buffer.from("<root/>"))).toBe("the file has no <svg> root element");
  });
});
