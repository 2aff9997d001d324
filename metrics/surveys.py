"""The citizen impact survey import (issue 17): being built."""
