import sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline='') as f, open(dst, 'w', newline='') as g:
    for line in f:
        g.write(line.upper())
