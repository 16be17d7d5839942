// Just enough PNG decoding to tell a real screenshot from a blank one:
// 8-bit RGB or RGBA, not interlaced (what Chromium writes).
import zlib from 'node:zlib'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

function paeth(a, b, c) {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** `{ width, height, channels, pixels }` of a PNG buffer (pixels unfiltered, row after row). */
export function decodePng(png) {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG')
  let offset = 8
  let header
  const data = []
  while (offset < png.length) {
    const length = png.readUInt32BE(offset)
    const type = png.toString('latin1', offset + 4, offset + 8)
    const body = png.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') {
      header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8], colour: body[9], interlace: body[12] }
    } else if (type === 'IDAT') {
      data.push(body)
    } else if (type === 'IEND') {
      break
    }
    offset += 12 + length
  }
  if (!header || header.depth !== 8 || header.interlace !== 0 || (header.colour !== 2 && header.colour !== 6)) {
    throw new Error(`unsupported PNG ${JSON.stringify(header)}`)
  }
  const channels = header.colour === 6 ? 4 : 3
  const stride = header.width * channels
  const raw = zlib.inflateSync(Buffer.concat(data))
  const pixels = Buffer.alloc(stride * header.height)
  for (let y = 0; y < header.height; y++) {
    const filter = raw[y * (stride + 1)]
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const out = y * stride
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[out + x - channels] : 0
      const b = y > 0 ? pixels[out + x - stride] : 0
      const c = x >= channels && y > 0 ? pixels[out + x - stride - channels] : 0
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter]
      if (predictor === undefined) throw new Error(`bad PNG filter ${filter}`)
      pixels[out + x] = (line[x] + predictor) & 0xff
    }
  }
  return { width: header.width, height: header.height, channels, pixels }
}

/** How many distinct RGB colours, and the share of pixels that differ from the most common one. */
export function colourStats({ channels, pixels }) {
  const counts = new Map()
  for (let i = 0; i < pixels.length; i += channels) {
    const rgb = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]
    counts.set(rgb, (counts.get(rgb) || 0) + 1)
  }
  const total = pixels.length / channels
  let commonest = 0
  for (const n of counts.values()) if (n > commonest) commonest = n
  return { colours: counts.size, nonBackground: 1 - commonest / total }
}
