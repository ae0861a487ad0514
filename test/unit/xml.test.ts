/** The XML reader and writer of the request layer, on S3's documents (no server needed). */
import { describe, expect, it } from 'vitest'
import {
  completeMultipartUploadXml,
  deleteObjectsXml,
  deleteResultReader,
  fitsXml10,
  listMultipartUploadsReader,
  listObjectsV2Reader,
  parseErrorBody,
  quoteEtag,
  readResultDocument,
  type DocumentReader,
} from '../../src/transport/documents.js'
import { decodeEntities, decodeUrlValue, escapeXml, parseXml, XmlError, XmlStreamReader } from '../../src/transport/xml.js'
import { HARD_KEYS } from '../transport/support.js'

/** Feed a document in chunks cut at `cuts` byte offsets (every split point, when asked). */
function feed<T>(reader: DocumentReader<T>, xml: string | Buffer, cuts: number[] = []): ReturnType<DocumentReader<T>['end']> {
  const bytes = Buffer.isBuffer(xml) ? xml : Buffer.from(xml, 'utf8')
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    reader.push(bytes.subarray(at, cut))
    at = cut
  }
  return reader.end()
}

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'

function listPage(keys: string[], opts: { encoded?: boolean; extra?: string; prefixes?: string[] } = {}): string {
  const enc = (k: string) => (opts.encoded ? encodeURIComponent(k).replace(/%20/g, '+') : escapeXml(k))
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult ${NS}><Name>b</Name><Prefix></Prefix><KeyCount>${keys.length + (opts.prefixes?.length ?? 0)}</KeyCount><MaxKeys>1000</MaxKeys>`
  if (opts.encoded) xml += '<EncodingType>url</EncodingType>'
  xml += '<IsTruncated>true</IsTruncated>'
  for (const [i, k] of keys.entries()) {
    xml += `<Contents><Key>${enc(k)}</Key><LastModified>2026-12-01T12:00:0${i % 10}.000Z</LastModified><ETag>&quot;etag${i}&quot;</ETag><Size>${i * 10}</Size><Owner><ID>owner-id</ID><DisplayName>Owner &amp; Co</DisplayName></Owner><StorageClass>STANDARD_IA</StorageClass><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumAlgorithm>SHA256</ChecksumAlgorithm></Contents>`
  }
  for (const p of opts.prefixes ?? []) xml += `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`
  return `${xml}${opts.extra ?? ''}<NextContinuationToken>tok/en+=</NextContinuationToken></ListBucketResult>\n`
}

describe('entities and escaping', () => {
  it('decodes the predefined entities and numeric references, astral ones included', () => {
    expect(decodeEntities('&lt;a&gt; &amp; &quot;b&quot; &apos;c&apos;')).toBe(`<a> & "b" 'c'`)
    expect(decodeEntities('&#65;&#x42;&#x1F600;&#13;&#x9;')).toBe('AB😀\r\t')
    expect(decodeEntities('no references')).toBe('no references')
  })

  it('refuses malformed or unknown references instead of guessing', () => {
    for (const bad of ['a & b', '&foo;', '&#0;', '&#xD800;', '&#x110000;', '&#xZZ;', '&amp', '&;']) {
      expect(() => decodeEntities(bad), bad).toThrow(XmlError)
    }
  })

  it('escapes keys so that they read back byte for byte (control characters as references)', () => {
    for (const key of [...HARD_KEYS, '\u0000\uffff x']) {
      const doc = `<K>${escapeXml(key)}</K>`
      expect(doc).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/)
      if (!key.includes('\u0000')) expect(parseXml(doc).text).toBe(key)
    }
    expect(escapeXml('plain')).toBe('plain')
  })

  it('knows which keys XML 1.0 cannot carry', () => {
    expect(fitsXml10('tab\tnew\nline\r and é 😀')).toBe(true)
    expect(fitsXml10('ctl\u0001')).toBe(false)
    expect(fitsXml10('\uffff')).toBe(false)
    expect(fitsXml10('lone \ud800 surrogate')).toBe(false)
  })

  it('decodes url-encoded values, + as a space, and refuses broken escapes', () => {
    expect(decodeUrlValue('a+b%2Bc%20d%25%01%C3%A9')).toBe('a b+c d%\u0001é')
    expect(decodeUrlValue('plain')).toBe('plain')
    expect(() => decodeUrlValue('%E0%A4%A')).toThrow(XmlError)
    expect(() => decodeUrlValue('%C3')).toThrow(XmlError)
  })
})

describe('parseXml', () => {
  it('reads CDATA verbatim, skips comments and processing instructions, keeps text byte for byte', () => {
    const root = parseXml(
      '<?xml version="1.0"?>\n<!-- c --><R a="1>2" b=\'x\'><A><![CDATA[<not & parsed>]]>&amp;tail</A><!-- inner --><B>line\r\nend</B><C/><D></D></R>\n\n',
    )
    expect(root.name).toBe('R')
    expect(root.children.map((c) => [c.name, c.text])).toEqual([
      ['A', '<not & parsed>&tail'],
      ['B', 'line\r\nend'],
      ['C', ''],
      ['D', ''],
    ])
  })

  it('refuses DOCTYPEs, mismatched, unclosed and truncated documents, and content around the root', () => {
    const bad = [
      '<!DOCTYPE x [<!ENTITY e "boom">]><R>&e;</R>',
      '<R><A></B></R>',
      '<R><A>',
      '<R><A>text</A>',
      '<R/><S/>',
      'junk<R/>',
      '<R/>junk',
      '',
      '   ',
      '<R><A>x</A></R',
    ]
    for (const xml of bad) expect(() => parseXml(xml), JSON.stringify(xml)).toThrow(XmlError)
  })
})

describe('listing pages', () => {
  const keys = ['a b', 'c+d', 'e%41', 'ctl\u0001\u001f', 'line\nbreak', 'é/日本/😀', '<&>"\'', '']
  const nonEmpty = keys.filter((k) => k !== '')

  it('decodes url-encoded keys and prefixes (and only when the server says it encoded them)', () => {
    const done = feed(listObjectsV2Reader(), listPage(nonEmpty, { encoded: true, prefixes: ['p q/', 'r+s/'] }))
    expect('result' in done).toBe(true)
    if (!('result' in done)) return
    const out = done.result
    expect(out.Contents.map((c) => c.Key)).toEqual(nonEmpty)
    expect(out.CommonPrefixes).toEqual(['p q/', 'r+s/'])
    expect(out.KeyCount).toBe(nonEmpty.length + 2)
    expect(out.IsTruncated).toBe(true)
    expect(out.NextContinuationToken).toBe('tok/en+=')
    expect(out.Contents[1]).toEqual({
      Key: 'c+d',
      LastModified: new Date('2026-12-01T12:00:01.000Z'),
      ETag: '"etag1"',
      Size: 10,
      Owner: { ID: 'owner-id', DisplayName: 'Owner & Co' },
      StorageClass: 'STANDARD_IA',
      ChecksumAlgorithm: ['CRC32', 'SHA256'],
    })
    // A server that ignored encoding-type=url sent the keys as they are: '%41' stays '%41'.
    const plain = feed(listObjectsV2Reader(), listPage(['e%41', 'a+b'], {}))
    expect('result' in plain && plain.result.Contents.map((c) => c.Key)).toEqual(['e%41', 'a+b'])
  })

  it('gives the same page whatever the chunk boundaries (inside tags, entities and UTF-8 sequences)', () => {
    const bytes = Buffer.from(listPage(nonEmpty, { encoded: false, prefixes: ['é/'] }))
    const whole = feed(listObjectsV2Reader(), bytes)
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(feed(listObjectsV2Reader(), bytes, [cut])).toEqual(whole)
    }
    const cuts: number[] = []
    for (let i = 3; i < bytes.length; i += 7) cuts.push(i)
    expect(feed(listObjectsV2Reader(), bytes, cuts)).toEqual(whole)
  })

  it('reads records with attributes or CDATA through the general path, with the same result', () => {
    const odd = listPage(['x'], {}).replace('<Contents><Key>x</Key>', '<Contents kind="odd"><Key><![CDATA[x]]></Key>')
    const done = feed(listObjectsV2Reader(), odd)
    expect('result' in done && done.result.Contents[0]).toMatchObject({ Key: 'x', Size: 0, ETag: '"etag0"', Owner: { ID: 'owner-id' } })
  })

  it('refuses truncated, malformed and foreign documents', () => {
    const page = listPage(['a', 'b'])
    expect(() => feed(listObjectsV2Reader(), page.slice(0, page.length - 30))).toThrow(XmlError)
    expect(() => feed(listObjectsV2Reader(), page.replace('<Size>10</Size>', '<Size>ten</Size>'))).toThrow(XmlError)
    expect(() => feed(listObjectsV2Reader(), '<Other/>')).toThrow(XmlError)
    expect(() => feed(listObjectsV2Reader(), `${page}<Extra/>`)).toThrow(XmlError)
    expect(() => feed(listObjectsV2Reader(), Buffer.from([0x3c, 0x52, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x52, 0x3e]))).toThrow(XmlError)
  })

  it('returns an <Error> document as an error', () => {
    const done = feed(listObjectsV2Reader(), '<Error><Code>SlowDown</Code><Message>Please &amp; slow</Message><RequestId>r1</RequestId></Error>')
    expect(done).toEqual({ error: { Code: 'SlowDown', Message: 'Please & slow', RequestId: 'r1' } })
  })

  it('reads ListMultipartUploads pages', () => {
    const xml = `<ListMultipartUploadsResult ${NS}><Bucket>b</Bucket><KeyMarker></KeyMarker><NextKeyMarker>k 2</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker><IsTruncated>true</IsTruncated><Upload><Key>k 1&amp;</Key><UploadId>u1</UploadId><Initiator><ID>i</ID></Initiator><Owner><ID>o</ID><DisplayName>O</DisplayName></Owner><StorageClass>STANDARD</StorageClass><Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListMultipartUploadsResult>`
    const done = feed(listMultipartUploadsReader(), xml, [50, 200])
    expect(done).toEqual({
      result: {
        Uploads: [
          {
            Key: 'k 1&',
            UploadId: 'u1',
            Initiator: { ID: 'i' },
            Owner: { ID: 'o', DisplayName: 'O' },
            StorageClass: 'STANDARD',
            Initiated: new Date('2026-12-01T00:00:00.000Z'),
          },
        ],
        CommonPrefixes: ['p/'],
        IsTruncated: true,
        NextKeyMarker: 'k 2',
        NextUploadIdMarker: 'u2',
      },
    })
  })
})

describe('DeleteObjects', () => {
  it('writes the request body with escaped keys and reads per-key results and errors', () => {
    const body = deleteObjectsXml([{ Key: 'a&b<c>' }, { Key: 'v', VersionId: 'x"y' }], true)
    expect(body).toContain('<Quiet>true</Quiet><Object><Key>a&amp;b&lt;c&gt;</Key></Object><Object><Key>v</Key><VersionId>x&quot;y</VersionId></Object>')
    expect(parseXml(body).children.map((c) => c.name)).toEqual(['Quiet', 'Object', 'Object'])
    const result = `<DeleteResult ${NS}><Deleted><Key>a&amp;b</Key></Deleted><Error><Key>locked key</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error><Deleted><Key>v</Key><VersionId>3</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>4</DeleteMarkerVersionId></Deleted></DeleteResult>`
    expect(feed(deleteResultReader(), result)).toEqual({
      result: {
        Deleted: [{ Key: 'a&b' }, { Key: 'v', VersionId: '3', DeleteMarker: true, DeleteMarkerVersionId: '4' }],
        Errors: [{ Key: 'locked key', Code: 'AccessDenied', Message: 'Access Denied' }],
      },
    })
    expect(feed(deleteResultReader(), '<Error><Code>MalformedXML</Code></Error>')).toEqual({ error: { Code: 'MalformedXML' } })
  })
})

describe('results that may be a 200 with <Error>', () => {
  const ok = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult ${NS}><Location>l</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;e-2&quot;</ETag></CompleteMultipartUploadResult>`
  const error = '<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>r</RequestId></Error>'

  it('accepts the result element, with whitespace sent to keep the connection open before it', () => {
    for (const text of [ok, `   \n  ${ok}`, `${ok}\n`]) {
      const doc = readResultDocument(text, 'CompleteMultipartUploadResult')
      expect(doc.kind).toBe('result')
      if (doc.kind === 'result') expect(doc.root.children.find((c) => c.name === 'ETag')?.text).toBe('"e-2"')
    }
  })

  it('reports an <Error> with or without whitespace around it', () => {
    for (const text of [error, `${error}\n`, `\n \n${error}`, `   ${error}   \r\n`, `<?xml version="1.0" encoding="UTF-8"?>\n\n${error}\n`]) {
      const doc = readResultDocument(text, 'CompleteMultipartUploadResult')
      expect(doc, JSON.stringify(text)).toEqual({
        kind: 'error',
        error: { Code: 'InternalError', Message: 'We encountered an internal error. Please try again.', RequestId: 'r' },
      })
    }
  })

  it('calls anything else invalid: empty, whitespace only, truncated, another element', () => {
    for (const text of ['', '   \n', ok.slice(0, -10), '<CopyObjectResult/>', `${ok}<Error/>`]) {
      expect(readResultDocument(text, 'CompleteMultipartUploadResult').kind, JSON.stringify(text)).toBe('invalid')
    }
  })

  it('writes the Complete request body', () => {
    const xml = completeMultipartUploadXml([
      { PartNumber: 1, ETag: '"a"' },
      { PartNumber: 2, ETag: '"b"', ChecksumCRC32: 'AAAAAA==' },
    ])
    expect(xml).toContain(
      '<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>',
    )
  })

  it('reads error bodies and normalises bare ETags', () => {
    expect(parseErrorBody('<Error><Code>NoSuchKey</Code><Key>a b</Key><BucketName>bk</BucketName></Error>')).toEqual({
      Code: 'NoSuchKey',
      Key: 'a b',
      BucketName: 'bk',
    })
    expect(parseErrorBody('')).toBeUndefined()
    expect(parseErrorBody('<html>proxy error</html>')).toBeUndefined()
    expect([quoteEtag('abc'), quoteEtag('"abc"'), quoteEtag(''), quoteEtag(undefined)]).toEqual(['"abc"', '"abc"', '', undefined])
  })
})

describe('XmlStreamReader', () => {
  it('hands root children over as they complete and holds only the unfinished one', () => {
    const seen: string[] = []
    const reader = new XmlStreamReader((e) => seen.push(`${e.name}=${e.text}`))
    reader.push(Buffer.from('<R><A>1</A><B>2'))
    expect(seen).toEqual(['A=1'])
    reader.push(Buffer.from('</B><C>3</C>'))
    expect(seen).toEqual(['A=1', 'B=2', 'C=3'])
    reader.push(Buffer.from('</R>  '))
    reader.end()
    expect(reader.rootName).toBe('R')
  })
})

describe('numbers and dates read in place', () => {
  it('reads S3 timestamps exactly as Date does, and falls back to Date for other forms', async () => {
    const { dateAt, integerAt } = await import('../../src/transport/xml.js')
    const samples = [
      '2026-12-01T12:34:56.789Z',
      '2024-02-29T00:00:00.000Z',
      '1970-01-01T00:00:00.000Z',
      '2000-03-01T23:59:59.999Z',
      '1999-12-31T23:59:59Z',
      '2100-02-28T01:02:03.004Z',
    ]
    for (let i = 0; i < 2000; i++) samples.push(new Date(Date.UTC(1990, 0, 1) + i * 86_400_000 * 7.3 + i * 1234).toISOString())
    for (const text of samples) expect(dateAt(text, 0, text.length).getTime(), text).toBe(new Date(text).getTime())
    for (const text of ['Tue, 01 Dec 2026 12:00:00 GMT', '2026-12-01T12:00:00+01:00'])
      expect(dateAt(text, 0, text.length).getTime()).toBe(new Date(text).getTime())
    expect(Number.isNaN(dateAt('2026-13-01T00:00:00.000Z', 0, 24).getTime())).toBe(true)
    expect([integerAt('x12345y', 1, 6), integerAt('', 0, 0), integerAt('-1', 0, 2), integerAt('1e3', 0, 3)]).toEqual([
      12345,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ])
  })
})
