"""The console's panels, one module for each section of index.html; each takes the Console it draws for."""
