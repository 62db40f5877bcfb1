package harness

import (
	"image"
	"image/color"
	"strings"
)

// glyphs is a 3×5 pixel font: enough for the plot's labels (upper case,
// digits and a few signs). Each glyph is five rows of three cells.
var glyphs = map[rune]string{
	'A': ".#.#.#####.##.#", 'B': "##.#.###.#.###.", 'C': ".###..#..#...##", 'D': "##.#.##.##.###.",
	'E': "####..##.#..###", 'F': "####..##.#..#..", 'G': ".###..#.##.#.##", 'H': "#.##.#####.##.#",
	'I': "###.#..#..#.###", 'J': "..#..#..##.#.#.", 'K': "#.##.###.#.##.#", 'L': "#..#..#..#..###",
	'M': "#.########.##.#", 'N': "##.#.##.##.##.#", 'O': ".#.#.##.##.#.#.", 'P': "##.#.###.#..#..",
	'Q': ".#.#.##.##.#.##", 'R': "##.#.###.#.##.#", 'S': ".###...#...###.", 'T': "###.#..#..#..#.",
	'U': "#.##.##.##.####", 'V': "#.##.##.##.#.#.", 'W': "#.##.########.#", 'X': "#.##.#.#.#.##.#",
	'Y': "#.##.#.#..#..#.", 'Z': "###..#.#.#..###", '0': "####.##.##.####", '1': ".#.##..#..#.###",
	'2': "###..#####..###", '3': "###..####..####", '4': "#.##.####..#..#", '5': "####..###..####",
	'6': "####..####.####", '7': "###..#..#..#..#", '8': "####.#####.####", '9': "####.####..####",
	'.': ".............#.", '-': "......###......", '(': ".#.#..#..#...#.", ')': ".#...#..#..#.#.",
	'/': "..#..#.#.#..#..", ':': "....#.....#....", ' ': "...............", '=': "...###...###...",
	'%': "#.#..#.#.#..#.#", ',': "..........#.#..", '×': "...#.#.#.#.#...",
}

// drawText writes s at (x, y) (top left) with cells of scale pixels.
func drawText(img *image.RGBA, x, y, scale int, s string, c color.Color) {
	for _, r := range strings.ToUpper(s) {
		g, ok := glyphs[r]
		if !ok {
			g = glyphs[' ']
		}
		for i := 0; i < 15; i++ {
			if g[i] != '#' {
				continue
			}
			px, py := x+(i%3)*scale, y+(i/3)*scale
			fill(img, image.Rect(px, py, px+scale, py+scale), c)
		}
		x += 4 * scale
	}
}

// textWidth is the width in pixels of s drawn at scale.
func textWidth(s string, scale int) int { return len([]rune(s)) * 4 * scale }

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}
